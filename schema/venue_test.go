package schema

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// valueRecorder is a RowWriter that keeps every scalar value in column order.
type valueRecorder struct{ vals []any }

func (r *valueRecorder) Int64(v int64)        { r.vals = append(r.vals, v) }
func (r *valueRecorder) Float64(v float64)    { r.vals = append(r.vals, v) }
func (r *valueRecorder) String(v string)      { r.vals = append(r.vals, v) }
func (r *valueRecorder) Bool(v bool)          { r.vals = append(r.vals, v) }
func (r *valueRecorder) Float64s(v []float64) { r.vals = append(r.vals, v) }
func (r *valueRecorder) Int64s(v []int64)     { r.vals = append(r.vals, v) }

// fillDistinct sets every scalar field of the struct v points to (embedded Header included) to a value that
// no other field has, so a WriteRow/ReadRow pair that swaps two same-typed fields cannot round-trip.
func fillDistinct(v reflect.Value, n *int) {
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		*n++
		switch f.Kind() {
		case reflect.Struct:
			fillDistinct(f, n)
		case reflect.String:
			f.SetString(fmt.Sprintf("s%d", *n))
		case reflect.Int64:
			f.SetInt(int64(1000 + *n))
		case reflect.Uint64:
			f.SetUint(uint64(2000 + *n))
		case reflect.Float64:
			f.SetFloat(float64(*n) + 0.25)
		case reflect.Bool:
			f.SetBool(true)
		}
	}
}

// fieldByColumn finds the struct field a column stores: the column name without underscores equals the field
// name case-insensitively (bk_px → BkPx, delta_bs → DeltaBS, inst_id → InstID).
func fieldByColumn(v reflect.Value, col string) (reflect.Value, bool) {
	want := strings.ReplaceAll(col, "_", "")
	f := v.FieldByNameFunc(func(name string) bool { return strings.EqualFold(name, want) })
	return f, f.IsValid()
}

// TestVenueTablesStoreTheirFields proves, for the tables of the channels added with the channel registry, that
// each column holds the field of the same name (not a same-typed neighbour) and that rows round-trip.
func TestVenueTablesStoreTheirFields(t *testing.T) {
	for _, tab := range []*Table{LiquidationTable, PriceLimitTable, OptSummaryTable, EstimatedPriceTable,
		InstrumentTable, StatusTable} {
		e := tab.New()
		n := 0
		fillDistinct(reflect.ValueOf(e).Elem(), &n)
		rec := &valueRecorder{}
		e.WriteRow(rec)
		if len(rec.vals) != len(tab.Columns) {
			t.Fatalf("%s: wrote %d values for %d columns", tab.Name, len(rec.vals), len(tab.Columns))
		}
		ev := reflect.ValueOf(e).Elem()
		for i, c := range tab.Columns {
			f, ok := fieldByColumn(ev, c.Name)
			if !ok {
				t.Fatalf("%s: no field for column %s", tab.Name, c.Name)
			}
			got := fmt.Sprint(rec.vals[i])
			if want := fmt.Sprint(f.Interface()); got != want {
				t.Errorf("%s: column %s holds %s, field holds %s", tab.Name, c.Name, got, want)
			}
		}
		back := tab.New()
		if err := DecodeRow(AppendRow(nil, e), back); err != nil {
			t.Fatalf("%s: %v", tab.Name, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: round trip differs:\n got %+v\nwant %+v", tab.Name, back, e)
		}
	}
}
