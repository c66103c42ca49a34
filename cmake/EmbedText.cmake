# parley_embed_text(<target> <file> <namespace> <name>): compiles <file>'s text into <target> as
# `std::string_view <namespace>::<name>()`, so the binary needs no data files at run time.
function(parley_embed_text target file namespace name)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${name}.cpp)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DINPUT=${file} -DOUTPUT=${out} -DNAMESPACE=${namespace} -DNAME=${name}
      -P ${PROJECT_SOURCE_DIR}/cmake/embed_text_file.cmake
    DEPENDS ${file} ${PROJECT_SOURCE_DIR}/cmake/embed_text_file.cmake
    COMMENT "Embedding ${file}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
