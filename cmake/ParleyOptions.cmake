# Warnings, hardening and sanitizers as INTERFACE targets that every module links,
# so flags live in one place (the cpp-best-practices/cmake_template habit).
option(PARLEY_WARNINGS_AS_ERRORS "Treat warnings as errors" ON)
set(PARLEY_SANITIZE "" CACHE STRING "Comma-separated sanitizers, e.g. address,undefined")

add_library(parley_warnings INTERFACE)
target_compile_options(parley_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wunused -Woverloaded-virtual
  -Wformat=2 -Wimplicit-fallthrough)
if(PARLEY_WARNINGS_AS_ERRORS)
  target_compile_options(parley_warnings INTERFACE -Werror)
endif()
# GCC 12 false positives at -O2, both fixed in GCC 13; kept visible but not fatal:
# - impossible memcpy overlaps inside std::string::operator+ (GCC bug 105329);
# - "mismatched new/delete" on Asio's coroutine frames, which pair their own class-specific
#   operator new and delete (GCC bug 109224).
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(parley_warnings INTERFACE -Wno-error=restrict
    -Wno-error=mismatched-new-delete)
endif()

add_library(parley_hardening INTERFACE)
target_compile_options(parley_hardening INTERFACE -fstack-protector-strong -fPIE)
target_link_options(parley_hardening INTERFACE -pie -Wl,-z,relro,-z,now)
if(CMAKE_BUILD_TYPE STREQUAL "Release")
  target_compile_options(parley_hardening INTERFACE -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2)
endif()

add_library(parley_sanitizers INTERFACE)
if(PARLEY_SANITIZE)
  target_compile_options(parley_sanitizers INTERFACE -fsanitize=${PARLEY_SANITIZE}
    -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(parley_sanitizers INTERFACE -fsanitize=${PARLEY_SANITIZE})
endif()

add_library(parley_project_options INTERFACE)
target_link_libraries(parley_project_options INTERFACE parley_warnings parley_hardening
  parley_sanitizers)
target_compile_features(parley_project_options INTERFACE cxx_std_20)
# Boost.Asio/Beast without the deprecated APIs; Boost.JSON/URL as compiled libraries.
target_compile_definitions(parley_project_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED)

# parley_module(<name> SOURCES ... DEPS ...): one static library per src/<module>/.
function(parley_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(parley_${name} STATIC ${M_SOURCES})
  add_library(parley::${name} ALIAS parley_${name})
  target_include_directories(parley_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(parley_${name} PUBLIC ${M_DEPS} PRIVATE parley_project_options)
  target_compile_features(parley_${name} PUBLIC cxx_std_20)
endfunction()

# parley_test(<name> SOURCES ... DEPS ... LABELS ...): one GoogleTest binary registered with CTest.
function(parley_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main
    parley_project_options)
  gtest_discover_tests(${name} PROPERTIES LABELS "${T_LABELS}" DISCOVERY_TIMEOUT 60
    WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
endfunction()
