# The MPI module, build/Release/biaslearn_mpi.node: built when an MPI implementation is found
# (find_package(MPI); Debian/Ubuntu: apt-get install libopenmpi-dev openmpi-bin, or libmpich-dev
# mpich), skipped with a message otherwise (-DBIASLEARN_MPI=OFF skips it always). It links MPI and
# nothing of the model core: the model modules reach it through the C ABI of
# native/distributed/collective.h, so biaslearn.node never depends on MPI.
# The C API from C++ (the project enables CXX only); never the deprecated MPI C++ bindings.
set(MPI_CXX_SKIP_MPICXX ON CACHE BOOL "" FORCE)
find_package(MPI COMPONENTS CXX QUIET)
if(NOT MPI_CXX_FOUND)
  message(STATUS "biaslearn: no MPI found; biaslearn_mpi.node not built (apt-get install libopenmpi-dev openmpi-bin for distributed training)")
  return()
endif()
message(STATUS "biaslearn: MPI ${MPI_CXX_VERSION} (${MPI_CXX_LIBRARIES}); building biaslearn_mpi.node")
add_library(biaslearn_mpi SHARED ${CMAKE_CURRENT_LIST_DIR}/mpi_module.cpp ${CMAKE_JS_SRC})
set_target_properties(biaslearn_mpi PROPERTIES PREFIX "" SUFFIX ".node")
target_include_directories(biaslearn_mpi PRIVATE ${CMAKE_JS_INC} ${NODE_API_INC} ${NODE_ADDON_API_INC})
target_compile_definitions(biaslearn_mpi PRIVATE NAPI_VERSION=8 NAPI_CPP_EXCEPTIONS NODE_ADDON_API_DISABLE_DEPRECATED)
target_link_libraries(biaslearn_mpi PRIVATE ${CMAKE_JS_LIB} MPI::MPI_CXX ${CMAKE_DL_LIBS})
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  target_compile_options(biaslearn_mpi PRIVATE -O2 -Wall -Wextra -Wno-unused-parameter -fexceptions)
endif()
if(APPLE)
  target_link_options(biaslearn_mpi PRIVATE -undefined dynamic_lookup)
endif()
