# CMake helpers for projects that use event-engine (included by
# event_engineConfig.cmake, so find_package(event_engine) provides them).
#
#   ee_add_plugin(NAME SOURCES a.cpp b.cpp ...)
#     Builds the plugin library libNAME.so that `event-engine run` loads
#     ([[plugin]] library = "libNAME.so"). It links only the headers
#     (ee::plugin_api): the engine's code and state come from the program
#     that loads it. Add more with target_link_libraries(NAME PRIVATE ...),
#     but never ee::event_engine (a second copy of the engine breaks the
#     log sink and the RTTI the engine relies on).
#
#   ee_add_host_program(TARGET)
#     Makes the executable TARGET (a main() calling ee::run_host) able to
#     load plugin libraries: links ee::host and all of ee::event_engine, and
#     exports their symbols to the libraries it loads.

function(ee_add_plugin name)
  cmake_parse_arguments(EE_PLUGIN "" "" "SOURCES" ${ARGN})
  if(NOT EE_PLUGIN_SOURCES)
    message(FATAL_ERROR "ee_add_plugin(${name}): give SOURCES a.cpp ...")
  endif()
  add_library(${name} MODULE ${EE_PLUGIN_SOURCES})
  target_link_libraries(${name} PRIVATE ee::plugin_api)
  # libNAME.so on every generator, as [[plugin]] library names it.
  set_target_properties(${name} PROPERTIES PREFIX "lib" SUFFIX ".so")
endfunction()

function(ee_add_host_program target)
  target_link_libraries(${target} PRIVATE ee::host)
  # Every object of the engine library, not only those the program uses:
  # a plugin may call any public function.
  target_link_options(${target} PRIVATE
    "LINKER:--whole-archive" "$<TARGET_FILE:ee::event_engine>"
    "LINKER:--no-whole-archive")
  set_target_properties(${target} PROPERTIES ENABLE_EXPORTS ON)
endfunction()
