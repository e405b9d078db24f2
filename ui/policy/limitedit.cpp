#include "limitedit.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>

#include <cmath>

namespace airlock::ui {

LimitEdit::LimitEdit(QList<Unit> units, double maximum, int decimals, QWidget *parent)
    : QWidget(parent), m_units(std::move(units)), m_enabled(new QCheckBox(tr("Limit"), this)),
      m_spin(new QDoubleSpinBox(this)), m_unit(new QComboBox(this))
{
    m_spin->setDecimals(decimals);
    m_spin->setRange(0, maximum);
    m_spin->setAccelerated(true);
    for (const Unit &u : std::as_const(m_units))
        m_unit->addItem(u.name);
    m_unit->setVisible(m_units.size() > 1);
    m_enabled->setAccessibleName(tr("Set a limit"));
    m_spin->setAccessibleName(tr("Limit value"));
    m_unit->setAccessibleName(tr("Unit"));

    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_enabled);
    layout->addWidget(m_spin, 1);
    layout->addWidget(m_unit);
    if (m_units.size() == 1 && !m_units.first().name.isEmpty())
        m_spin->setSuffix(u' ' + m_units.first().name);

    connect(m_enabled, &QCheckBox::toggled, this, [this](bool on) {
        m_spin->setEnabled(on);
        m_unit->setEnabled(on);
        emitEdited();
    });
    connect(m_spin, &QDoubleSpinBox::valueChanged, this, &LimitEdit::emitEdited);
    connect(m_unit, &QComboBox::activated, this, &LimitEdit::emitEdited);
    setFocusProxy(m_enabled);
}

QList<LimitEdit::Unit> LimitEdit::bytes()
{
    return {{tr("MiB"), 1024.0 * 1024}, {tr("GiB"), 1024.0 * 1024 * 1024}, {tr("KiB"), 1024.0}, {tr("bytes"), 1}};
}

QList<LimitEdit::Unit> LimitEdit::seconds()
{
    return {{tr("minutes"), 60}, {tr("hours"), 3600}, {tr("seconds"), 1}};
}

QList<LimitEdit::Unit> LimitEdit::count(const QString &noun)
{
    return {{noun, 1}};
}

std::optional<double> LimitEdit::value() const
{
    if (!m_enabled->isChecked())
        return std::nullopt;
    return m_spin->value() * m_units.value(m_unit->currentIndex(), m_units.first()).factor;
}

void LimitEdit::setValue(std::optional<double> v)
{
    const QSignalBlocker b1(m_enabled), b2(m_spin), b3(m_unit);
    m_enabled->setChecked(v.has_value());
    m_spin->setEnabled(v.has_value());
    m_unit->setEnabled(v.has_value());
    if (!v)
        return;
    // Show the value in the largest unit it is a whole number of (2 GiB, not 2048 MiB); values that
    // fit no unit exactly keep the smallest one.
    int best = 0;
    for (int i = 0; i < m_units.size(); ++i) {
        if (m_units.at(i).factor < m_units.at(best).factor)
            best = i;
    }
    for (int i = 0; i < m_units.size(); ++i) {
        const double scaled = *v / m_units.at(i).factor;
        if (scaled >= 1 && std::abs(scaled - std::round(scaled)) < 1e-9 && m_units.at(i).factor > m_units.at(best).factor)
            best = i;
    }
    m_unit->setCurrentIndex(best);
    m_spin->setValue(*v / m_units.at(best).factor);
}

void LimitEdit::emitEdited()
{
    std::optional<double> v = value();
    if (v && m_spin->decimals() == 0)
        v = std::round(*v);
    Q_EMIT edited(v);
}

} // namespace airlock::ui
