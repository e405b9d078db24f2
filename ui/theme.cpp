#include "theme.h"

#include <QApplication>
#include <QPalette>
#include <QStyle>
#include <QStyleFactory>

namespace airlock::ui {

QPalette paletteFor(Theme theme)
{
    QPalette p;
    const bool dark = theme == Theme::Dark;
    const QColor window = dark ? QColor(0x24, 0x27, 0x2e) : QColor(0xf3, 0xf4, 0xf6);
    const QColor base = dark ? QColor(0x1b, 0x1d, 0x23) : QColor(0xff, 0xff, 0xff);
    const QColor alt = dark ? QColor(0x2a, 0x2d, 0x35) : QColor(0xf7, 0xf8, 0xfa);
    const QColor text = dark ? QColor(0xe6, 0xe8, 0xeb) : QColor(0x1f, 0x23, 0x28);
    const QColor button = dark ? QColor(0x31, 0x35, 0x3d) : QColor(0xe9, 0xeb, 0xee);
    const QColor accent = dark ? QColor(0x4c, 0x9a, 0xff) : QColor(0x1f, 0x6f, 0xeb);
    const QColor muted = dark ? QColor(0x8b, 0x92, 0x9c) : QColor(0x6a, 0x72, 0x7c);

    p.setColor(QPalette::Window, window);
    p.setColor(QPalette::WindowText, text);
    p.setColor(QPalette::Base, base);
    p.setColor(QPalette::AlternateBase, alt);
    p.setColor(QPalette::ToolTipBase, base);
    p.setColor(QPalette::ToolTipText, text);
    p.setColor(QPalette::PlaceholderText, muted);
    p.setColor(QPalette::Text, text);
    p.setColor(QPalette::Button, button);
    p.setColor(QPalette::ButtonText, text);
    p.setColor(QPalette::BrightText, QColor(0xff, 0x55, 0x55));
    p.setColor(QPalette::Highlight, accent);
    p.setColor(QPalette::HighlightedText, QColor(0xff, 0xff, 0xff));
    p.setColor(QPalette::Link, accent);
    p.setColor(QPalette::Light, dark ? button.lighter(130) : QColor(0xff, 0xff, 0xff));
    p.setColor(QPalette::Midlight, dark ? button.lighter(115) : button.lighter(105));
    p.setColor(QPalette::Mid, dark ? button.darker(120) : button.darker(115));
    p.setColor(QPalette::Dark, dark ? QColor(0x14, 0x16, 0x1a) : button.darker(150));
    p.setColor(QPalette::Shadow, QColor(0, 0, 0));
    for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
        p.setColor(QPalette::Disabled, role, muted);
    return p;
}

void applyTheme(Theme theme)
{
    if (QApplication::style()->name().compare(QLatin1String("fusion"), Qt::CaseInsensitive) != 0)
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    QApplication::setPalette(paletteFor(theme));
}

QString themeName(Theme theme)
{
    return theme == Theme::Dark ? QStringLiteral("dark") : QStringLiteral("light");
}

Theme themeFromName(const QString &name)
{
    return name == QLatin1String("dark") ? Theme::Dark : Theme::Light;
}

} // namespace airlock::ui
