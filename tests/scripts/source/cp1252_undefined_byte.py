# coding=windows-1252
# Byte 0x81 is not in Windows-1252: importing this file is a SyntaxError.
sign = ""
