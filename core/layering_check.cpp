// Compiled only into airlock-core: the build fails if the core library is ever given QtGui or
// QtWidgets, which would let the engine grow a dependency on a display. tests/cmake/layering.cmake
// also scans core/ for GUI includes, which Debian's shared Qt include root would not catch here.
#if defined(QT_GUI_LIB) || defined(QT_WIDGETS_LIB)
#error "airlock-core must not depend on QtGui or QtWidgets"
#endif
