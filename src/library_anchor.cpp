// libtalkgen.so is made of the part libraries linked whole; CMake needs one source of its own.
namespace talkgen::detail {
int library_anchor = 0;
}
