/*
 * A stand-in for Windows' bcryptprimitives.dll, for scripts/test-windows only: Rust's standard
 * library gets its random bytes from bcryptprimitives!ProcessPrng (Windows 10 and later), which
 * Wine 8.0 (Debian 12) lacks, so mailmfa.exe would not start under it. This DLL exports ProcessPrng
 * and fills the buffer from RtlGenRandom (advapi32!SystemFunction036), which Wine has. A Wine that
 * has ProcessPrng (Wine 9 and later) needs none of this; the product never ships it.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
