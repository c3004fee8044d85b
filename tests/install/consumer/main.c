#include <stdio.h>
#include "talkgen.h"
int main(void) { printf("c %s\n", talkgen_version()); return 0; }
