# Generates build/generated/meshsim_version.h at build time, so `meshsim --version`
# names the git revision actually built without re-running CMake.
set(MESHSIM_VERSION_HEADER "${PROJECT_BINARY_DIR}/generated/meshsim_version.h")
add_custom_target(meshsim_version_header
  COMMAND ${CMAKE_COMMAND}
          -DSOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DOUTPUT=${MESHSIM_VERSION_HEADER}
          -DVERSION=${PROJECT_VERSION}
          -P ${PROJECT_SOURCE_DIR}/cmake/WriteVersion.cmake
  BYPRODUCTS ${MESHSIM_VERSION_HEADER}
  COMMENT "" VERBATIM)
