# Read by cpack when it runs (CPACK_PROJECT_CONFIG_FILE): the package
# revision from the environment, so one build tree gives -1, -2, ...
if(DEFINED ENV{OUTBOXD_DEB_REVISION} AND NOT "$ENV{OUTBOXD_DEB_REVISION}" STREQUAL "")
  if(NOT "$ENV{OUTBOXD_DEB_REVISION}" MATCHES "^[0-9]+$")
    message(FATAL_ERROR "OUTBOXD_DEB_REVISION must be a number, not '$ENV{OUTBOXD_DEB_REVISION}'")
  endif()
  set(CPACK_DEBIAN_PACKAGE_RELEASE "$ENV{OUTBOXD_DEB_REVISION}")
else()
  set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
endif()
