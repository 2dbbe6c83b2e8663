# The Debian package, built by CPack from the install rules below:
#   ./scripts/package.sh deb        (configures, builds, runs cpack, lintian)
# docs/packaging.md describes what the package holds and does; the proof that
# it installs, upgrades and purges under a real systemd is
# scripts/test-deploy.sh package (ctest deploy_package).
#
# The revision (the "-1" of 0.5.0-1) is read when cpack runs, from
# OUTBOXD_DEB_REVISION (default 1): the upgrade proof builds -1 and -2 from
# one build tree.

set(OUTBOXD_DEB_DIR ${CMAKE_CURRENT_LIST_DIR})
set(OUTBOXD_DEB_GEN ${CMAKE_BINARY_DIR}/deb)
file(MAKE_DIRECTORY ${OUTBOXD_DEB_GEN})

# Paths of a Debian system package, whatever CMAKE_INSTALL_PREFIX says for a
# plain `cmake --install` (/usr/local): the package installs to /usr.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)

# The unit in deploy/systemd is the one the systemd proofs run; the
# package's differs only where a package must: the binary in /usr/bin and
# the static system user the package creates (it owns the config file, which
# may hold the DSN) instead of a dynamic one.
file(READ ${PROJECT_SOURCE_DIR}/deploy/systemd/outboxd.service unit)
foreach(from_to
    "/usr/local/bin/outboxd|/usr/bin/outboxd"
    "DynamicUser=yes|User=outboxd\nGroup=outboxd"
    "# outboxd as a systemd service. Install the binary as /usr/bin/outboxd\n# and the configuration as /etc/outboxd/outboxd.yaml (readable by the service\n# user).|# outboxd as a systemd service, installed by the outboxd Debian package\n# (docs/packaging.md). The configuration is /etc/outboxd/outboxd.yaml\n# (root:outboxd, mode 0640).")
  string(REPLACE "|" ";" pair "${from_to}")
  list(GET pair 0 from)
  list(GET pair 1 to)
  string(FIND "${unit}" "${from}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "packaging/deb: '${from}' is no longer in deploy/systemd/outboxd.service; update package.cmake")
  endif()
  string(REPLACE "${from}" "${to}" unit "${unit}")
endforeach()
file(WRITE ${OUTBOXD_DEB_GEN}/outboxd.service "${unit}")

# The man page, compressed as Debian policy wants (gzip -9n: no name, no
# time stamp, so two builds give the same bytes).
configure_file(${OUTBOXD_DEB_DIR}/outboxd.8 ${OUTBOXD_DEB_GEN}/outboxd.8 @ONLY)
add_custom_command(OUTPUT ${OUTBOXD_DEB_GEN}/outboxd.8.gz
  COMMAND gzip -9nc ${OUTBOXD_DEB_GEN}/outboxd.8 > ${OUTBOXD_DEB_GEN}/outboxd.8.gz
  DEPENDS ${OUTBOXD_DEB_GEN}/outboxd.8 VERBATIM)
add_custom_command(OUTPUT ${OUTBOXD_DEB_GEN}/changelog.gz
  COMMAND gzip -9nc ${PROJECT_SOURCE_DIR}/CHANGELOG.md > ${OUTBOXD_DEB_GEN}/changelog.gz
  DEPENDS ${PROJECT_SOURCE_DIR}/CHANGELOG.md VERBATIM)
add_custom_target(outboxd_deb_files ALL DEPENDS ${OUTBOXD_DEB_GEN}/outboxd.8.gz ${OUTBOXD_DEB_GEN}/changelog.gz)

set(doc share/doc/outboxd)
install(FILES ${OUTBOXD_DEB_GEN}/outboxd.service DESTINATION /lib/systemd/system COMPONENT daemon)
install(FILES ${PROJECT_SOURCE_DIR}/config/outboxd.example.yaml DESTINATION /etc/outboxd
  RENAME outboxd.yaml COMPONENT daemon)
install(FILES ${OUTBOXD_DEB_GEN}/outboxd.8.gz DESTINATION share/man/man8 COMPONENT daemon)
install(FILES ${OUTBOXD_DEB_DIR}/copyright ${PROJECT_SOURCE_DIR}/README.md ${OUTBOXD_DEB_GEN}/changelog.gz
  DESTINATION ${doc} COMPONENT daemon)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${doc} COMPONENT daemon
  FILES_MATCHING PATTERN "*.md" PATTERN "benchmarks-history.md" EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/outboxd.env ${PROJECT_SOURCE_DIR}/deploy/prometheus/outboxd-alerts.yaml
  ${PROJECT_SOURCE_DIR}/deploy/grafana/outboxd-dashboard.json
  DESTINATION ${doc}/examples COMPONENT daemon)
install(FILES ${OUTBOXD_DEB_DIR}/lintian-overrides DESTINATION share/lintian/overrides
  RENAME outboxd COMPONENT daemon)
# changelog.Debian.gz names the package's own version, revision included,
# which is known only when cpack runs.
install(CODE "
  set(rev \"\$ENV{OUTBOXD_DEB_REVISION}\")
  if(NOT rev)
    set(rev 1)
  endif()
  string(TIMESTAMP when \"%a, %d %b %Y %H:%M:%S +0000\" UTC)
  set(dir \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${doc}\")
  file(MAKE_DIRECTORY \"\${dir}\")
  file(WRITE \"${OUTBOXD_DEB_GEN}/changelog.Debian\"
    \"outboxd (${PROJECT_VERSION}-\${rev}) unstable; urgency=medium\\n\\n  * outboxd ${PROJECT_VERSION}, package revision \${rev}; changelog.gz lists\\n    what changed for operators.\\n\\n -- ${OUTBOXD_DEB_MAINTAINER}  \${when}\\n\")
  execute_process(COMMAND gzip -9nf \"${OUTBOXD_DEB_GEN}/changelog.Debian\" COMMAND_ERROR_IS_FATAL ANY)
  file(COPY \"${OUTBOXD_DEB_GEN}/changelog.Debian.gz\" DESTINATION \"\${dir}\")
" COMPONENT daemon)

# cpack builds nothing itself (scripts/package.sh builds the daemon first):
# it must not rebuild a tree whose tests may be running.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME outboxd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${OUTBOXD_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${OUTBOXD_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "transactional outbox relay from PostgreSQL to Kafka or RabbitMQ")
# The long description; CPack puts the summary above it.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "outboxd moves rows that applications write to an outbox table, in the same
PostgreSQL transaction as their business change, to Kafka (acks=all) or
RabbitMQ (publisher confirms), and marks each row once the broker has
confirmed it. Rows that keep failing are parked for a person to review.
Several hosts may run it against one table: one publishes, the others wait
as standbys.
.
This package installs the daemon, a hardened systemd unit (not enabled
until the configuration in /etc/outboxd/outboxd.yaml points at a
database), an outboxd system user, the documentation and a man page.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Library dependencies come from the binary (dpkg-shlibdeps); adduser is for
# the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# Stripped as Debian's own packages are (dh_strip): without the .comment
# and .note sections too, which a plain strip keeps.
install(CODE "
  set(bin \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/bin/outboxd\")
  execute_process(COMMAND strip --remove-section=.comment --remove-section=.note --strip-unneeded \"\${bin}\"
    COMMAND_ERROR_IS_FATAL ANY)
" COMPONENT daemon)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
foreach(script conffiles postinst prerm postrm)
  configure_file(${OUTBOXD_DEB_DIR}/${script} ${OUTBOXD_DEB_GEN}/control/${script} COPYONLY)
  list(APPEND CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${OUTBOXD_DEB_GEN}/control/${script})
endforeach()
# Only the daemon's files: a build tree with the examples has their install
# rules too.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL daemon)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_PROJECT_CONFIG_FILE ${OUTBOXD_DEB_DIR}/cpack_options.cmake)
set(CPACK_OUTPUT_FILE_PREFIX ${CMAKE_BINARY_DIR}/packages)
include(CPack)
