#pragma once

#include <QColor>
#include <QString>
#include <QtGlobal>

class QLabel;
class QWidget;

// Small pieces the three docks share: how sizes and durations read, and the one-line error and
// empty-state labels.

namespace airlock::ui::docks {

QString formatBytes(qint64 bytes);       // "812 B", "14.2 KiB", "3.1 MiB"
QString formatDuration(qint64 ms);       // "850 ms", "12 s", "4 min 03 s", "2 h 10 min"
QString formatTime(qint64 msSinceEpoch); // local "HH:mm:ss", with the date when not today

// `base` moved toward `tint` by `amount` (0..1): colours that read in light and dark palettes alike.
QColor mix(const QColor &base, const QColor &tint, double amount);
// Foregrounds for good and bad news, from the application palette's text colour.
QColor goodText();
QColor badText();

// A red, wrapping, selectable label for what went wrong; hidden until it has text.
QLabel *makeErrorLabel(const QString &objectName, QWidget *parent);
void showError(QLabel *label, const QString &text);
// A centred, dimmed label for "nothing here yet".
QLabel *makeEmptyLabel(const QString &objectName, QWidget *parent);

} // namespace airlock::ui::docks
