#include "threaddelegate.h"

#include "threadmodel.h"
#include "text/inerttext.h"

#include <QApplication>
#include <QFontDatabase>
#include <QPainter>
#include <QTextLayout>

namespace airlock::ui {

namespace {
constexpr int kPad = 8;
constexpr int kGap = 4;

QString kindGlyph(const QString &toolKind)
{
    static const QHash<QString, QString> glyphs{
        {QStringLiteral("read"), QStringLiteral("☰")},    {QStringLiteral("edit"), QStringLiteral("✎")},
        {QStringLiteral("delete"), QStringLiteral("✖")},  {QStringLiteral("move"), QStringLiteral("⇄")},
        {QStringLiteral("search"), QStringLiteral("⚲")},  {QStringLiteral("execute"), QStringLiteral("▶")},
        {QStringLiteral("think"), QStringLiteral("✱")},   {QStringLiteral("fetch"), QStringLiteral("☁")},
    };
    return glyphs.value(toolKind, QStringLiteral("⚙"));
}

QColor statusColor(const QString &status, const QPalette &pal)
{
    if (status == QLatin1String("completed") || status == QLatin1String("allow"))
        return QColor(0x1a, 0x7f, 0x37);
    if (status == QLatin1String("failed") || status == QLatin1String("deny"))
        return QColor(0xcf, 0x22, 0x2e);
    if (status == QLatin1String("in_progress") || status == QLatin1String("pending"))
        return QColor(0x9a, 0x67, 0x00);
    return pal.color(QPalette::PlaceholderText);
}

QString firstLines(const QString &text, int lines, int chars)
{
    qsizetype end = 0;
    for (int i = 0; i < lines && end >= 0; ++i)
        end = text.indexOf(u'\n', end ? end + 1 : 0);
    QString out = end < 0 ? text : text.left(end);
    if (out.size() > chars)
        out = out.left(chars);
    if (out.size() < text.size())
        out += QStringLiteral(" …");
    return out;
}

int textHeight(const QFont &font, int width, const QString &text)
{
    if (text.isEmpty())
        return 0;
    return QFontMetrics(font).boundingRect(QRect(0, 0, width, 1 << 20), Qt::TextWordWrap, text).height();
}
} // namespace

struct ThreadDelegate::Layout {
    QString header, body, detail;
    QFont headerFont, bodyFont, detailFont;
    int headerH = 0, bodyH = 0, detailH = 0;
    int height = 0;
};

ThreadDelegate::Layout ThreadDelegate::layout(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const auto *model = qobject_cast<const ThreadModel *>(index.model());
    const ThreadItem &it = model->item(index.row());
    Layout l;
    l.headerFont = option.font;
    l.headerFont.setBold(true);
    l.bodyFont = option.font;
    l.detailFont = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    l.detailFont.setPointSizeF(option.font.pointSizeF() * 0.9);
    const int width = std::max(80, option.rect.width() - 2 * kPad - 6);
    switch (it.kind) {
    case ThreadItem::UserMessage:
        l.header = tr("You");
        l.body = it.expanded ? it.text : firstLines(it.text, 1000, kCollapsedChars);
        break;
    case ThreadItem::AgentMessage:
        l.header = tr("Agent");
        l.body = it.expanded ? it.text : firstLines(it.text, 1000, kCollapsedChars);
        break;
    case ThreadItem::Thought:
        l.bodyFont.setItalic(true);
        l.body = it.expanded ? it.text : tr("Thinking: %1").arg(firstLines(it.text.simplified(), 1, 160));
        break;
    case ThreadItem::ToolCall: {
        QString duration;
        if (it.endTime > 0)
            duration = QStringLiteral(" · %1 s").arg(double(it.endTime - it.startTime) / 1000.0, 0, 'f', 1);
        l.header = QStringLiteral("%1  %2   [%3]%4").arg(kindGlyph(it.toolKind), it.title, it.status, duration);
        l.detail = firstLines(it.detail, it.expanded ? kExpandedDetailLines : kCollapsedDetailLines, it.expanded ? 20000 : 400);
        break;
    }
    case ThreadItem::Plan:
        l.header = tr("Plan");
        l.body = it.text;
        break;
    case ThreadItem::Permission:
        l.header = QStringLiteral("%1   [%2]").arg(it.title, it.status);
        l.detail = firstLines(it.detail, it.expanded ? kExpandedDetailLines : 2, 400);
        break;
    case ThreadItem::Notice:
        l.bodyFont.setPointSizeF(option.font.pointSizeF() * 0.92);
        l.body = it.title;
        if (it.expanded && !it.detail.isEmpty()) { // the agent's log, opened: its last lines
            const QStringList lines = it.detail.split(u'\n');
            l.detail = lines.mid(std::max<qsizetype>(0, lines.size() - kExpandedDetailLines)).join(u'\n').right(20000);
        }
        break;
    }
    // Everything drawn here came from the agent: no control, bidi or zero-width character reaches the
    // screen unseen.
    l.header = text::inertLine(l.header);
    l.body = text::inertText(l.body);
    l.detail = text::inertText(l.detail);
    l.headerH = l.header.isEmpty() ? 0 : QFontMetrics(l.headerFont).height();
    l.bodyH = textHeight(l.bodyFont, width, l.body);
    l.detailH = textHeight(l.detailFont, width, l.detail);
    const int parts = (l.headerH > 0) + (l.bodyH > 0) + (l.detailH > 0);
    l.height = 2 * kPad + l.headerH + l.bodyH + l.detailH + std::max(0, parts - 1) * kGap + 2 * kGap;
    return l;
}

QSize ThreadDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const auto *model = qobject_cast<const ThreadModel *>(index.model());
    if (!model)
        return QStyledItemDelegate::sizeHint(option, index);
    const ThreadItem &it = model->item(index.row());
    const int width = option.rect.width();
    if (it.cacheWidth != width || it.cacheSeq != it.lastSeq || it.cacheExpanded != it.expanded) {
        it.cacheHeight = layout(option, index).height;
        it.cacheWidth = width;
        it.cacheSeq = it.lastSeq;
        it.cacheExpanded = it.expanded;
    }
    return {width, it.cacheHeight};
}

void ThreadDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const auto *model = qobject_cast<const ThreadModel *>(index.model());
    if (!model) {
        QStyledItemDelegate::paint(painter, option, index);
        return;
    }
    const ThreadItem &it = model->item(index.row());
    const Layout l = layout(option, index);
    const QPalette &pal = option.palette;
    painter->save();
    QRect card = option.rect.adjusted(kPad / 2, kGap, -kPad / 2, -kGap);
    const bool notice = it.kind == ThreadItem::Notice;
    QColor fill = pal.color(QPalette::Base);
    if (it.kind == ThreadItem::UserMessage)
        fill = pal.color(QPalette::AlternateBase);
    if (!notice) {
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(QPen(pal.color(QPalette::Mid), 1));
        painter->setBrush(fill);
        painter->drawRoundedRect(card, 6, 6);
    }
    QColor accent = it.kind == ThreadItem::UserMessage ? pal.color(QPalette::Highlight)
        : it.kind == ThreadItem::ToolCall || it.kind == ThreadItem::Permission ? statusColor(it.status, pal)
                                                                               : QColor();
    if (it.warning)
        accent = QColor(0xcf, 0x22, 0x2e);
    if (accent.isValid()) {
        painter->setPen(Qt::NoPen);
        painter->setBrush(accent);
        painter->drawRoundedRect(QRect(card.left(), card.top(), 4, card.height()), 2, 2);
    }
    if (option.state & QStyle::State_Selected) {
        painter->setPen(QPen(pal.color(QPalette::Highlight), 2));
        painter->setBrush(Qt::NoBrush);
        painter->drawRoundedRect(card, 6, 6);
    }
    int y = card.top() + kPad;
    const int x = card.left() + kPad + 4;
    const int w = card.width() - 2 * kPad - 4;
    if (l.headerH > 0) {
        painter->setFont(l.headerFont);
        painter->setPen(it.kind == ThreadItem::ToolCall || it.kind == ThreadItem::Permission ? pal.color(QPalette::Text)
                                                                                             : pal.color(QPalette::Text));
        painter->drawText(QRect(x, y, w, l.headerH), Qt::AlignLeft | Qt::AlignVCenter,
                          QFontMetrics(l.headerFont).elidedText(l.header, Qt::ElideRight, w));
        y += l.headerH + kGap;
    }
    if (l.bodyH > 0) {
        painter->setFont(l.bodyFont);
        painter->setPen(notice || it.kind == ThreadItem::Thought ? pal.color(QPalette::PlaceholderText)
                                                                  : pal.color(QPalette::Text));
        if (it.warning && notice)
            painter->setPen(QColor(0xcf, 0x22, 0x2e));
        painter->drawText(QRect(x, y, w, l.bodyH), Qt::TextWordWrap, l.body);
        y += l.bodyH + kGap;
    }
    if (l.detailH > 0) {
        painter->setFont(l.detailFont);
        painter->setPen(pal.color(QPalette::PlaceholderText));
        painter->drawText(QRect(x, y, w, l.detailH), Qt::TextWordWrap, l.detail);
    }
    painter->restore();
}

} // namespace airlock::ui
