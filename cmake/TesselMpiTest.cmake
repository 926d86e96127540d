# tessel_add_mpi_test(NAME <name> RANKS <n> COMMAND <program> [args...])
#
# A CTest test that runs <program> on <n> MPI ranks of this machine only: mpirun with
# --oversubscribe (more ranks than cores is fine for these short tests) and --bind-to none
# (the ranks share the cores with each other and with the rest of the suite). Label `mpi`.
# Open MPI refuses to run as root unless told that is intended; CI runs as root, so the two
# OMPI_ALLOW_RUN_AS_ROOT variables are set for these tests only. Under LeakSanitizer (the
# asan-ubsan preset) Open MPI's own allocations kept until exit are suppressed by
# tests/distributed/lsan_openmpi.supp (a frame in an MPI library); leaks stay on otherwise.
function(tessel_add_mpi_test)
  cmake_parse_arguments(ARG "" "NAME;RANKS" "COMMAND" ${ARGN})
  add_test(NAME "${ARG_NAME}"
           COMMAND "${MPIEXEC_EXECUTABLE}" ${MPIEXEC_NUMPROC_FLAG} ${ARG_RANKS} --oversubscribe --bind-to none
                   ${MPIEXEC_PREFLAGS} ${ARG_COMMAND} ${MPIEXEC_POSTFLAGS})
  set_tests_properties("${ARG_NAME}" PROPERTIES
    LABELS mpi
    TIMEOUT 120
    PROCESSORS ${ARG_RANKS}
    ENVIRONMENT "OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_btl=self,vader;OMPI_MCA_rmaps_base_oversubscribe=1;LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/tests/distributed/lsan_openmpi.supp:print_suppressions=0:fast_unwind_on_malloc=0")
endfunction()
