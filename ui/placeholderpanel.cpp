#include "placeholderpanel.h"

#include <QLabel>
#include <QVBoxLayout>

namespace airlock::ui {

PlaceholderPanel::PlaceholderPanel(const QString &heading, const QString &explanation, QWidget *parent)
    : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    auto *title = new QLabel(heading, this);
    QFont f = title->font();
    f.setBold(true);
    title->setFont(f);
    auto *body = new QLabel(explanation, this);
    body->setWordWrap(true);
    body->setForegroundRole(QPalette::PlaceholderText);
    body->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(title);
    layout->addWidget(body);
    layout->addStretch(1);
    setAccessibleName(heading);
    setAccessibleDescription(explanation);
}

} // namespace airlock::ui
