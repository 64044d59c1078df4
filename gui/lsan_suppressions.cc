// LeakSanitizer suppressions for the Qt programs in sanitizer builds (compiled
// into meshsim-gui and the gui test binaries only when MESHSIM_SANITIZE is set).
// fontconfig keeps its font cache, and libdbus its connection data, until the
// process exits and never frees them: LeakSanitizer reports those as leaks on
// every run that draws text. Leaks in our own code are still reported.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\nleak:libdbus-1.so\n"; }
