# The Debian package: `cpack -G DEB` in a Linux build folder gives
# berth_<version>_<arch>.deb with /usr/bin/berth, the system unit made from
# service/systemd/berth.service.in (as `berth service install --system`
# makes it, for /usr/bin/berth), a default /etc/berth/config.json (a
# conffile: a purge removes it), and the maintainer scripts beside this
# file (the berth account, the docker group's drop-in, the unit enabled and
# started when a config exists). docs/service.md says what it does.

set(_deb ${CMAKE_CURRENT_LIST_DIR})
set(_out ${CMAKE_BINARY_DIR}/installer/debian)

# The unit as shipped: the template filled for the package's paths. The
# docker group is the postinst's drop-in, since the package cannot know
# whether the machine it lands on has one.
set(BERTH_EXE "\"/usr/bin/berth\"")
set(BERTH_CONFIG "\"/etc/berth/config.json\"")
set(BERTH_GROUPS "# SupplementaryGroups=docker: the package's drop-in berth.service.d/10-docker-group.conf, where the group exists")
configure_file(${PROJECT_SOURCE_DIR}/service/systemd/berth.service.in
               ${_out}/berth.service @ONLY)
unset(BERTH_EXE)
unset(BERTH_CONFIG)
unset(BERTH_GROUPS)

install(FILES ${_out}/berth.service DESTINATION /lib/systemd/system
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
install(FILES ${PROJECT_SOURCE_DIR}/service/config.json DESTINATION /etc/berth
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/service.md
              ${PROJECT_SOURCE_DIR}/docs/config.md ${PROJECT_SOURCE_DIR}/docs/spawn.md
              ${PROJECT_SOURCE_DIR}/docs/isolation.md ${PROJECT_SOURCE_DIR}/docs/http.md
              ${PROJECT_SOURCE_DIR}/docs/supervision.md
        DESTINATION share/doc/berth)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME berth)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "berth maintainers <maintainers@berth.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "one local endpoint for all your MCP servers")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "berth starts the MCP servers of an mcpServers config (local commands,\ninside Docker containers when isolation is on), keeps them running and\nserves all of their tools, prompts and resources as one MCP server over\nStreamable HTTP. This package runs it as the systemd service berth.")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "docker.io")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${_deb}/postinst ${_deb}/prerm ${_deb}/postrm ${_deb}/conffiles)
include(CPack)
