package parquet

import (
	"fmt"

	"github.com/apache/arrow-go/v18/parquet"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"

	"github.com/okxtape/okxtape/schema"
)

// How a table column maps to the Parquet column a file stores it in: the kind of values a decoder yields,
// the scale of decimals and timestamps, and where a list's elements are defined.

type colKind uint8

const (
	ckInt colKind = iota + 1
	ckFloat
	ckBool
	ckString
	ckFloatList
	ckIntList
)

// yields is the kind of values a column of kind k holds once decoded, which is what the row readers and the
// fill plans check: a kind that converts while decoding (a decimal stored as integers and read as doubles,
// say) yields the kind it converts to and is then read like it.
func (k colKind) yields() colKind { return k }

// colKindOf is the one place that maps a table column type and a file's leaf column to a decoder: a new
// column type is one case here, plus one in colDec.read and one in colKind.yields if it converts values. It returns 0 when the
// leaf cannot hold the column; scale is the factor applied to integers read.
func colKindOf(t schema.Type, d *pqschema.Column) (k colKind, scale int64) {
	phys, lt, rep := d.PhysicalType(), d.LogicalType(), d.MaxRepetitionLevel()
	unit, isTs := timestampUnit(lt)
	switch t {
	case schema.Int64:
		if phys == parquet.Types.Int64 && rep == 0 && !isTs && plainInt(lt) {
			return ckInt, 1
		}
	case schema.TimeMs:
		if phys == parquet.Types.Int64 && rep == 0 && isTs && unit == pqschema.TimeUnitMillis {
			return ckInt, 1
		}
	case schema.TimeNs:
		if phys == parquet.Types.Int64 && rep == 0 && isTs {
			switch unit {
			case pqschema.TimeUnitNanos:
				return ckInt, 1
			case pqschema.TimeUnitMicros: // a writer that coerced ns to µs (Parquet format 1.0)
				return ckInt, 1000
			}
		}
	case schema.Float64:
		if phys == parquet.Types.Double && rep == 0 {
			return ckFloat, 1
		}
	case schema.Bool:
		if phys == parquet.Types.Boolean && rep == 0 {
			return ckBool, 1
		}
	case schema.String:
		if phys == parquet.Types.ByteArray && rep == 0 && d.ConvertedType() == pqschema.ConvertedTypes.UTF8 {
			return ckString, 1
		}
	case schema.Float64List:
		if phys == parquet.Types.Double && rep == 1 {
			return ckFloatList, 1
		}
	case schema.Int64List:
		if phys == parquet.Types.Int64 && rep == 1 && !isTs && plainInt(lt) {
			return ckIntList, 1
		}
	}
	return 0, 0
}

func timestampUnit(lt pqschema.LogicalType) (pqschema.TimeUnitType, bool) {
	if ts, ok := lt.(interface {
		TimeUnit() pqschema.TimeUnitType
		IsAdjustedToUTC() bool
	}); ok {
		if _, isTime := lt.(*pqschema.TimeLogicalType); !isTime {
			return ts.TimeUnit(), true
		}
	}
	return 0, false
}

// plainInt reports whether an INT64 leaf holds plain signed integers (no logical type, or INT(64, signed)).
func plainInt(lt pqschema.LogicalType) bool {
	if lt == nil || lt.IsNone() {
		return true
	}
	if it, ok := lt.(interface {
		BitWidth() int8
		IsSigned() bool
	}); ok {
		return it.BitWidth() == 64 && it.IsSigned()
	}
	return false
}

// elemLevel returns the definition level of the repeated node above a list leaf: levels at or above it
// hold an element.
func elemLevel(d *pqschema.Column) (int16, error) {
	var path []pqschema.Node
	for n := d.SchemaNode(); n != nil && n.Parent() != nil; n = n.Parent() {
		path = append(path, n)
	}
	def := int16(0)
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i].RepetitionType() {
		case parquet.Repetitions.Optional:
			def++
		case parquet.Repetitions.Repeated:
			return def + 1, nil
		}
	}
	return 0, fmt.Errorf("list column %s has no repeated node: %w", d.Path(), ErrIncompatibleFile)
}
