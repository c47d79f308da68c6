# One static library per src/ folder (DESIGN.md). Sources are globbed with CONFIGURE_DEPENDS so a
# module's owner adds files without touching shared build files; DEPS is the layering table.
set(CERTPILOT_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wconversion
    -Wno-sign-conversion -Werror -Werror=unused-result)
# GCC 12 at -O3 (Release) reports false -Wrestrict overlaps inside std::string concatenation
# (GCC bug 105651): keep the warning visible, but not fatal.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND CERTPILOT_WARNINGS -Wno-error=restrict)
endif()

function(certpilot_warnings target)
  target_compile_options(${target} PRIVATE ${CERTPILOT_WARNINGS})
  if(CERTPILOT_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PUBLIC -fsanitize=address,undefined)
  endif()
endfunction()

function(certpilot_module name)
  cmake_parse_arguments(M "" "" "DEPS;LIBS" ${ARGN})
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(sources)
    add_library(cp_${name} STATIC ${sources})
    target_include_directories(cp_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  else()
    add_library(cp_${name} INTERFACE)
    target_include_directories(cp_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(cp_${name} INTERFACE ${M_LIBS})
    return()
  endif()
  set(deps)
  foreach(d IN LISTS M_DEPS)
    list(APPEND deps cp_${d})
  endforeach()
  target_link_libraries(cp_${name} PUBLIC ${deps} ${M_LIBS})
  certpilot_warnings(cp_${name})
endfunction()
