#pragma once

#include "store/event.h"

#include <QWidget>

class QLabel;
class QListView;
class QStackedWidget;

namespace airlock::ui {

class EventListModel;

// The central area: the selected session's thread. For now it lists the session's events live;
// messages, tool calls and plans get their own rendering with the agent protocol.
class ThreadView : public QWidget
{
    Q_OBJECT
public:
    explicit ThreadView(QWidget *parent = nullptr);

    EventListModel *model() const { return m_model; }
    // Shows a session (nullptr: none selected).
    void showSession(const store::SessionRow *session);
    QString currentSession() const;

private:
    QStackedWidget *m_stack;
    QLabel *m_title;
    QLabel *m_subtitle;
    QListView *m_list;
    EventListModel *m_model;
};

} // namespace airlock::ui
