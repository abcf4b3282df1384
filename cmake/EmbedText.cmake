# Writes a C++ source that holds a text file as one string constant, so the
# binary carries it (the HTML report's template). Run at build time:
#   cmake -DINPUT=file -DOUTPUT=file.cpp -DNAME=kSymbol -P EmbedText.cmake
file(READ "${INPUT}" content)
string(FIND "${content}" ")PTEMBED\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )PTEMBED\"")
endif()
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/EmbedText.cmake; edit that file instead.\n"
  "namespace pagetrace {\n"
  "extern const char* const ${NAME};\n"
  "const char* const ${NAME} = R\"PTEMBED(${content})PTEMBED\";\n"
  "}  // namespace pagetrace\n")
configure_file("${OUTPUT}.tmp" "${OUTPUT}" COPYONLY)
file(REMOVE "${OUTPUT}.tmp")
