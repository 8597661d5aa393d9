/* check_none.c: check.h's own test. A test file whose checks never ran (a main() that
 * returns early, a loop over an empty table) must fail rather than pass with
 * "0 passed, 0 failed": CTest runs this with WILL_FAIL, so the build's tests go red if
 * CHECK_DONE ever accepts zero checks again. */
#include "check.h"

int main(void)
{
    CHECK_DONE();
}
