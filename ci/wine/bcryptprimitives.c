/*
 * Stand-in for bcryptprimitives.dll under Wine 8.
 *
 * Rust's std for x86_64-pc-windows-gnu imports ProcessPrng from bcryptprimitives.dll to seed its
 * hash maps. Wine 8.0 (Debian 12) does not export it, so every Rust test executable fails to
 * start (exit code 53). Placed next to the executable, this DLL exports ProcessPrng and fills the
 * buffer through advapi32's SystemFunction036 (RtlGenRandom), whose length is a ULONG: we call it
 * in chunks of at most 0x7fffffff bytes.
 *
 * Build: x86_64-w64-mingw32-gcc -O2 -shared -o bcryptprimitives.dll bcryptprimitives.c -ladvapi32
 * (ci/wine/build-dll.sh does this).
 */
#include <windows.h>

/* advapi32!SystemFunction036, a.k.a. RtlGenRandom. */
__declspec(dllimport) BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x7fffffffu ? 0x7fffffffu : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance;
    (void)reason;
    (void)reserved;
    return TRUE;
}
