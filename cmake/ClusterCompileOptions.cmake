# One place for warnings and sanitizer flags, applied to every target of the project.
add_compile_options(-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
                    -Wcast-align -Wunused -Woverloaded-virtual -Wconversion -Wsign-conversion
                    -Wformat=2)
# Not -Wnull-dereference: at -O2 GCC 12 reports false positives inside libstdc++ (streambuf).

if(CLUSTER_WERROR)
  add_compile_options(-Werror)
endif()
if(CLUSTER_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=address,undefined)
endif()
