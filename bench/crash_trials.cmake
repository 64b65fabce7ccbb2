# crash_trials runs the trial harness the CI subset also uses
# (tests/support/crash_trials.h); it needs only the storage library.
target_include_directories(crash_trials PRIVATE ${CMAKE_SOURCE_DIR}/tests)
