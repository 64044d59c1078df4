# meshsim::flags — the one place compiler flags for our own code live.
add_library(meshsim_flags INTERFACE)
add_library(meshsim::flags ALIAS meshsim_flags)

target_compile_options(meshsim_flags INTERFACE
  -Wall -Wextra -Wpedantic -Wnon-virtual-dtor -Wimplicit-fallthrough
  $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local>
  # Determinism: no fused multiply-add contraction, so floating-point results of the
  # random distributions are the same on every machine and compiler.
  -ffp-contract=off)
# Unity builds (CMAKE_UNITY_BUILD, on in the presets): each .cc is #included into a
# batch file, so GCC sees its classes as if they came from a header and warns that
# a class using a type from the file's anonymous namespace has "subobject linkage".
# In a .cc of its own that is correct C++; the warning only means "not the main file".
if(CMAKE_UNITY_BUILD)
  target_compile_options(meshsim_flags INTERFACE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
endif()
if(MESHSIM_WERROR)
  target_compile_options(meshsim_flags INTERFACE -Werror)
endif()
target_include_directories(meshsim_flags INTERFACE "${PROJECT_SOURCE_DIR}")

# Linker. The ~40 test executables each link the big static libraries with full
# debug info; GNU ld (bfd) is single-threaded and the slowest step of a link.
# mold (ci/setup installs it) and lld write the same executables several times
# faster (mesh_tests, RelWithDebInfo: 2.2 CPU-s with bfd, 0.7 with mold or lld).
# "auto" takes mold, then lld, then the compiler's default linker, so a machine
# without either still builds. Both keep --export-dynamic-symbol (proxy/tls).
set(MESHSIM_LINKER "auto" CACHE STRING "Linker passed as -fuse-ld= (auto: mold, else lld, else the compiler's default; or e.g. bfd, gold, lld, mold)")
if(MESHSIM_LINKER STREQUAL "auto")
  include(CheckLinkerFlag)
  foreach(linker mold lld)
    check_linker_flag(CXX "-fuse-ld=${linker}" MESHSIM_HAVE_LINKER_${linker})
    if(MESHSIM_HAVE_LINKER_${linker})
      set(meshsim_fuse_ld "${linker}")
      break()
    endif()
  endforeach()
elseif(MESHSIM_LINKER)
  set(meshsim_fuse_ld "${MESHSIM_LINKER}")
endif()
if(meshsim_fuse_ld)
  message(STATUS "meshsim: linking with -fuse-ld=${meshsim_fuse_ld}")
  add_link_options("-fuse-ld=${meshsim_fuse_ld}")
else()
  message(STATUS "meshsim: linking with the compiler's default linker")
endif()

# libFuzzer builds (preset "fuzz", clang): every library gets coverage
# instrumentation and ASan/UBSan; fuzz targets link -fsanitize=fuzzer.
if(MESHSIM_BUILD_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

# Sanitizer builds (preset "asan") set MESHSIM_SANITIZE=address,undefined.
set(MESHSIM_SANITIZE "" CACHE STRING "Comma-separated -fsanitize= list for the whole build")
if(MESHSIM_SANITIZE)
  add_compile_options(-fsanitize=${MESHSIM_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  # GCC's -Wmaybe-uninitialized is unreliable with -fsanitize=address (the GCC manual
  # says so): at -O1 it reports std::function members inside libstdc++'s <regex>.
  add_compile_options($<$<CXX_COMPILER_ID:GNU>:-Wno-maybe-uninitialized>)
  add_link_options(-fsanitize=${MESHSIM_SANITIZE})
endif()

# meshsim_add_library(<folder> SOURCES… [DEPS …]) — one static library per folder,
# aliased meshsim::<folder>.
function(meshsim_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(meshsim_${name} STATIC ${ARG_SOURCES})
  add_library(meshsim::${name} ALIAS meshsim_${name})
  target_link_libraries(meshsim_${name} PUBLIC meshsim::flags ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# meshsim_hot_path(<folder>) — the libraries every simulated byte goes through
# (event kernel, virtual network, proxy engine, TLS, runtime) are compiled at
# -O3 in optimised builds: ~2 % more requests/s in sidecar_bench (median of 5,
# docs/benchmarks.md). -ffp-contract=off still holds, so results do not change
# (the golden-value tests check it). GCC 12 reports false -Wrestrict /
# -Wstringop-overflow positives inside libstdc++'s char_traits at -O3 (GCC
# PR 105329, PR 105651); those two are silenced for these targets only.
function(meshsim_hot_path name)
  target_compile_options(meshsim_${name} PRIVATE
    $<$<CONFIG:RelWithDebInfo,Release>:-O3 $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict -Wno-stringop-overflow>>)
endfunction()

# meshsim_add_test(<name> SOURCES… DEPS… [LABELS …] [ONE_PROCESS]) — a gtest binary
# registered with ctest. Each TEST becomes a ctest of its own (gtest_discover_tests),
# so ctest -j spreads them over the cores. ONE_PROCESS registers the binary as one
# ctest instead: for suites whose SetUpTestSuite does the expensive part (a whole
# conformance run) that every TEST of the suite reads — one process per TEST would
# repeat it for each.
function(meshsim_add_test name)
  cmake_parse_arguments(ARG "ONE_PROCESS" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE meshsim::flags ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  set(env "MESHSIM_SOURCE_DIR=${PROJECT_SOURCE_DIR};MESHSIM_BINARY_DIR=${PROJECT_BINARY_DIR}")
  if(ARG_ONE_PROCESS)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${env}")
  else()
    gtest_discover_tests(${name} PROPERTIES LABELS "${ARG_LABELS}" ENVIRONMENT "${env}" DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
