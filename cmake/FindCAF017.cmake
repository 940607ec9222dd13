# Finds Debian's CAF 0.17 (which ships no CMake package) and defines the
# IMPORTED targets caf::core, caf::io and caf::openssl.
find_path(CAF017_INCLUDE_DIR caf/all.hpp)
find_library(CAF017_CORE_LIBRARY caf_core)
find_library(CAF017_IO_LIBRARY caf_io)
find_library(CAF017_OPENSSL_LIBRARY caf_openssl)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CAF017
  REQUIRED_VARS CAF017_CORE_LIBRARY CAF017_INCLUDE_DIR
  FAIL_MESSAGE "CAF 0.17 not found: apt-get install libcaf-dev")
if(CAF017_FOUND AND NOT TARGET caf::core)
  add_library(caf::core UNKNOWN IMPORTED)
  set_target_properties(caf::core PROPERTIES
    IMPORTED_LOCATION ${CAF017_CORE_LIBRARY}
    INTERFACE_INCLUDE_DIRECTORIES ${CAF017_INCLUDE_DIR})
  if(CAF017_IO_LIBRARY)
    add_library(caf::io UNKNOWN IMPORTED)
    set_target_properties(caf::io PROPERTIES
      IMPORTED_LOCATION ${CAF017_IO_LIBRARY}
      INTERFACE_LINK_LIBRARIES caf::core)
  endif()
  if(CAF017_OPENSSL_LIBRARY AND CAF017_IO_LIBRARY)
    add_library(caf::openssl UNKNOWN IMPORTED)
    set_target_properties(caf::openssl PROPERTIES
      IMPORTED_LOCATION ${CAF017_OPENSSL_LIBRARY}
      INTERFACE_LINK_LIBRARIES caf::io)
  endif()
endif()
