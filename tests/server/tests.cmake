# server_tests talk to the server as real clients do: libpq and libpqxx.
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(LIBPQXX REQUIRED IMPORTED_TARGET libpqxx)
target_link_libraries(server_tests PRIVATE PkgConfig::LIBPQXX PkgConfig::LIBPQ)
