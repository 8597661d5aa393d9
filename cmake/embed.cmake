# Turns the file IN into a C source OUT defining `const char NAME[]` (NUL-terminated)
# and `const size_t NAME_len`, so a binary carries its default data with it.
file(READ ${IN} HEX HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
string(LENGTH "${HEX}" HEXLEN)
math(EXPR LEN "${HEXLEN} / 2")
file(WRITE ${OUT} "/* generated from ${IN}; do not edit */\n#include <stddef.h>\nconst char ${NAME}[] = {${BYTES}0x00};\nconst size_t ${NAME}_len = ${LEN};\n")
