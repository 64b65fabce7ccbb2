# Writes a C++ include with one {version, name, sql, postgresql_sql} entry per
# sql/NNN_name.sql, in version order. postgresql_sql is sql/postgresql/NNN_name.sql
# where a migration must differ on PostgreSQL, else empty (the portable file
# runs on both). A PostgreSQL file without its portable twin is an error: the
# two catalogs must record the same versions. Run at build time by
# src/storage/CMakeLists.txt.
file(GLOB files ${SQL_DIR}/*.sql)
list(SORT files)
set(body "// Generated from sql/*.sql by cmake/EmbedMigrations.cmake. Do not edit.\n")
foreach(f ${files})
  get_filename_component(base ${f} NAME_WE)
  string(REGEX MATCH "^([0-9]+)_(.*)$" _m ${base})
  if(NOT _m)
    message(FATAL_ERROR "migration file name must be NNN_name.sql: ${f}")
  endif()
  set(ver ${CMAKE_MATCH_1})
  set(name ${CMAKE_MATCH_2})
  math(EXPR ver "${ver} + 0")
  file(READ ${f} sql)
  set(pg "")
  if(EXISTS ${SQL_DIR}/postgresql/${base}.sql)
    file(READ ${SQL_DIR}/postgresql/${base}.sql pg)
  endif()
  string(APPEND body "{${ver}, \"${name}\", R\"cdbsql(${sql})cdbsql\", R\"cdbsql(${pg})cdbsql\"},\n")
endforeach()
file(GLOB pg_files ${SQL_DIR}/postgresql/*.sql)
foreach(f ${pg_files})
  get_filename_component(base ${f} NAME_WE)
  if(NOT EXISTS ${SQL_DIR}/${base}.sql)
    message(FATAL_ERROR "${f} has no portable twin ${SQL_DIR}/${base}.sql")
  endif()
endforeach()
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
