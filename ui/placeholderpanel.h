#pragma once

#include <QWidget>

namespace airlock::ui {

// The body of a dock whose feature is not there yet: it says plainly what will appear in it, so the
// layout of the final workspace can be arranged and saved today.
class PlaceholderPanel : public QWidget
{
    Q_OBJECT
public:
    PlaceholderPanel(const QString &heading, const QString &explanation, QWidget *parent = nullptr);
};

} // namespace airlock::ui
