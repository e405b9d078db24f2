#pragma once

// Helpers for the dock tests: answering modal dialogs, and saving screenshots for people to look at.

#include <QApplication>
#include <QDir>
#include <QTimer>
#include <QWidget>

#include <functional>

namespace airlock::test {

// Calls `act` with the next modal dialog once it is shown (dialogs run their own loop in exec()).
inline void whenModal(std::function<void(QWidget *)> act)
{
    auto *timer = new QTimer(qApp);
    timer->setInterval(20);
    QObject::connect(timer, &QTimer::timeout, [timer, act] {
        QWidget *modal = QApplication::activeModalWidget();
        if (!modal || !modal->isVisible())
            return;
        timer->stop();
        timer->deleteLater();
        act(modal);
    });
    timer->start();
}

inline bool saveScreenshot(QWidget *widget, const QString &name)
{
#ifdef AIRLOCK_SCREENSHOT_DIR
    const QString dir = QStringLiteral(AIRLOCK_SCREENSHOT_DIR);
    QDir().mkpath(dir);
    return widget->grab().save(dir + u'/' + name);
#else
    Q_UNUSED(widget);
    Q_UNUSED(name);
    return true;
#endif
}

} // namespace airlock::test
