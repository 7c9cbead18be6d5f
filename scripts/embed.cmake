# Turn the file IN into a C source OUT defining
#   const unsigned char SYM[]; const unsigned long SYM_len;
# with a terminating NUL (not counted in SYM_len).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n\t" body "${body}")
file(WRITE ${OUT} "/* Generated from ${IN}; do not edit. */\n"
	"const unsigned char ${SYM}[] = {\n\t${body}0x00\n};\n"
	"const unsigned long ${SYM}_len = ${len};\n")
