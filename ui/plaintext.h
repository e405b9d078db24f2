#pragma once

#include "text/inerttext.h"

#include <QString>

namespace airlock::ui {

// A tooltip for text an agent controls. Qt guesses whether a tooltip is rich text, so a title such as
// "<img src=…>" or "<b>Deny</b>" would be rendered: the text is made inert, escaped and marked up
// as a paragraph, which Qt then shows literally.
inline QString plainToolTip(const QString &text)
{
    if (text.isEmpty())
        return {};
    return QStringLiteral("<p style='white-space:pre-wrap'>") + text::inertText(text).toHtmlEscaped() + QStringLiteral("</p>");
}

} // namespace airlock::ui
