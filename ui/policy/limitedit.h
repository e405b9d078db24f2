#pragma once

#include <QWidget>

#include <optional>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;

namespace airlock::ui {

// An optional limit with units: "[x] Limit  [ 2 ] [GiB]". Unchecked means no limit. The value is in
// base units (bytes, seconds, a count); the unit list scales what the spin box shows.
class LimitEdit : public QWidget
{
    Q_OBJECT
public:
    struct Unit {
        QString name;
        double factor;
    };
    explicit LimitEdit(QList<Unit> units, double maximum = 1e15, int decimals = 0, QWidget *parent = nullptr);

    static QList<Unit> bytes();
    static QList<Unit> seconds();
    static QList<Unit> count(const QString &noun);

    std::optional<double> value() const;
    void setValue(std::optional<double> value);

Q_SIGNALS:
    void edited(std::optional<double> value);

private:
    void emitEdited();

    QList<Unit> m_units;
    QCheckBox *m_enabled;
    QDoubleSpinBox *m_spin;
    QComboBox *m_unit;
};

} // namespace airlock::ui
