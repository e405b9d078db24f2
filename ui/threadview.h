#pragma once

#include "store/event.h"

#include <QWidget>

class QLabel;
class QListView;
class QStackedWidget;

namespace airlock::ui {

class ThreadModel;

// The central area: the selected session's thread — messages, thoughts, tool call cards, the plan,
// permission requests and notices — appended live as events arrive.
class ThreadView : public QWidget
{
    Q_OBJECT
public:
    explicit ThreadView(QWidget *parent = nullptr);

    ThreadModel *model() const { return m_model; }
    QListView *list() const { return m_list; }
    // Shows a session (nullptr: none selected).
    void showSession(const store::SessionRow *session);
    QString currentSession() const;

private:
    QStackedWidget *m_stack;
    QLabel *m_title;
    QLabel *m_subtitle;
    QListView *m_list;
    ThreadModel *m_model;
};

} // namespace airlock::ui
