# Script mode: writes OUTPUT, a C++ file defining `const char* SYMBOL` with the
# contents of INPUT (a raw string literal; the delimiter must not occur in it).
file(READ "${INPUT}" content)
string(FIND "${content}" ")meshsim_embed\"" bad)
if(NOT bad EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the embedding delimiter")
endif()
set(out "// Generated from ${INPUT} by cmake/EmbedText.cmake. Do not edit.\nnamespace meshsim::embedded {\nextern const char* const ${SYMBOL};\nconst char* const ${SYMBOL} = R\"meshsim_embed(${content})meshsim_embed\";\n}  // namespace meshsim::embedded\n")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT "${old}" STREQUAL "${out}")
  file(WRITE "${OUTPUT}" "${out}")
endif()
