# server_bench runs the Server in-process and drives it with libpq.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
target_link_libraries(server_bench PRIVATE cdb_server cdb_http PkgConfig::LIBPQ)
