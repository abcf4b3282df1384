# pagetrace_bpf_skeleton(NAME <name> SOURCES <a.bpf.c>... INCLUDES <dir>...)
#
# Compiles each BPF source with clang (-target bpf, CO-RE, BTF), links the
# objects into one with `bpftool gen object` and generates `<name>.skel.h` with
# `bpftool gen skeleton`. Creates the INTERFACE library <name>_skel whose
# include directory holds the skeleton.
find_program(PAGETRACE_CLANG NAMES clang clang-16 clang-15 clang-14 REQUIRED)
find_program(PAGETRACE_BPFTOOL NAMES bpftool PATHS /usr/sbin /usr/local/sbin REQUIRED)

if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(PAGETRACE_BPF_ARCH x86)
else()
  message(FATAL_ERROR "pagetrace: BPF programs are only built for x86-64 so far "
                      "(syscall numbers and vmlinux.h); found ${CMAKE_SYSTEM_PROCESSOR}")
endif()

function(pagetrace_bpf_skeleton)
  cmake_parse_arguments(ARG "" "NAME" "SOURCES;INCLUDES;DEPENDS" ${ARGN})
  set(out_dir ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}_bpf)
  file(MAKE_DIRECTORY ${out_dir})

  set(include_flags)
  foreach(dir ${ARG_INCLUDES})
    list(APPEND include_flags -I${dir})
  endforeach()

  set(objects)
  foreach(src ${ARG_SOURCES})
    get_filename_component(base ${src} NAME_WE)
    set(obj ${out_dir}/${base}.bpf.o)
    add_custom_command(
      OUTPUT ${obj}
      COMMAND ${PAGETRACE_CLANG} -g -O2 -Wall -Werror -target bpf
              -D__TARGET_ARCH_${PAGETRACE_BPF_ARCH} ${include_flags}
              -c ${src} -o ${obj}
      DEPENDS ${src} ${ARG_DEPENDS}
      COMMENT "BPF ${base}.bpf.c"
      VERBATIM)
    list(APPEND objects ${obj})
  endforeach()

  set(linked ${out_dir}/${ARG_NAME}.bpf.o)
  set(skel ${out_dir}/${ARG_NAME}.skel.h)
  add_custom_command(
    OUTPUT ${linked}
    COMMAND ${PAGETRACE_BPFTOOL} gen object ${linked} ${objects}
    DEPENDS ${objects}
    COMMENT "BPF link ${ARG_NAME}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skel}
    COMMAND ${PAGETRACE_BPFTOOL} gen skeleton ${linked} name ${ARG_NAME} > ${skel}
    DEPENDS ${linked}
    COMMENT "BPF skeleton ${ARG_NAME}.skel.h"
    VERBATIM)
  add_custom_target(${ARG_NAME}_skel_gen DEPENDS ${skel})

  add_library(${ARG_NAME}_skel INTERFACE)
  target_include_directories(${ARG_NAME}_skel INTERFACE ${out_dir})
  add_dependencies(${ARG_NAME}_skel ${ARG_NAME}_skel_gen)
endfunction()
