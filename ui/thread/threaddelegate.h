#pragma once

#include <QStyledItemDelegate>

namespace airlock::ui {

// Paints thread items as cards: messages with who said them, thoughts folded to one line, tool
// calls with their kind, status and duration, the plan as a checklist, permissions with their
// outcome, and notices. Clicking an item expands or folds its detail.
class ThreadDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    // Collapsed items show at most this much of their text.
    static constexpr int kCollapsedChars = 1500;
    static constexpr int kCollapsedDetailLines = 3;
    static constexpr int kExpandedDetailLines = 80;

private:
    struct Layout;
    Layout layout(const QStyleOptionViewItem &option, const QModelIndex &index) const;
};

} // namespace airlock::ui
