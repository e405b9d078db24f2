#pragma once

#include <QString>

class QPalette;

namespace airlock::ui {

enum class Theme { Light, Dark };

// Fusion everywhere, so both palettes look the same on every desktop.
void applyTheme(Theme theme);
QPalette paletteFor(Theme theme);
QString themeName(Theme theme);
Theme themeFromName(const QString &name); // unknown names give Light

} // namespace airlock::ui
