# cmake -DINPUT=f -DOUTPUT=f.cpp -DNAMESPACE=ns -DNAME=fn -P embed_text_file.cmake
file(READ "${INPUT}" content)
string(FIND "${content}" ")parley_text\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE "${OUTPUT}" "// Generated from ${INPUT}; do not edit.\n#include <string_view>\nnamespace ${NAMESPACE} {\nstd::string_view ${NAME}() {\n  static constexpr std::string_view text = R\"parley_text(${content})parley_text\";\n  return text;\n}\n}  // namespace ${NAMESPACE}\n")
