/* ProcessPrng for Wine 8, which lacks bcryptprimitives.dll: Rust's std
 * (1.78+) imports it for random bytes (HashMap seeds), so no Rust program
 * starts without it. Built by .ci/windows into the CI's Wine prefix only;
 * real Windows (8 and later) has the DLL. */
#include <windows.h>
#define RtlGenRandom SystemFunction036
BOOLEAN WINAPI RtlGenRandom(PVOID buffer, ULONG length);
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG part = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!RtlGenRandom(data, part)) return FALSE;
        data += part;
        length -= part;
    }
    return TRUE;
}
