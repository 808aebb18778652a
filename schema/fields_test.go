package schema

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// fillDistinct sets every exported field of the struct v points to (embedded Header included) to a value
// no other field of it has, so two fields swapped anywhere show up as a wrong value.
func fillDistinct(v reflect.Value, n *int) {
	v = v.Elem()
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		*n++
		switch f.Kind() {
		case reflect.Struct:
			fillDistinct(f.Addr(), n)
		case reflect.Int64, reflect.Int32, reflect.Int:
			f.SetInt(int64(1000 + *n))
		case reflect.Uint64:
			f.SetUint(uint64(1000 + *n))
		case reflect.Float64:
			f.SetFloat(float64(*n) + 0.25)
		case reflect.String:
			f.SetString(fmt.Sprintf("v%d", *n))
		case reflect.Bool:
			f.SetBool(*n%2 == 1)
		case reflect.Slice:
			if f.Type() == reflect.TypeOf([]Level(nil)) {
				f.Set(reflect.ValueOf([]Level{{Px: float64(*n), Sz: float64(*n) + 0.5, Orders: int64(*n)},
					{Px: float64(*n) + 1, Sz: 2, Orders: 3}}))
			}
		}
	}
}

// fieldsByColumnName maps normalised names (lower case, no underscores) to the struct's scalar fields.
func fieldsByColumnName(v reflect.Value, out map[string]reflect.Value) {
	v = v.Elem()
	for i := 0; i < v.NumField(); i++ {
		f, sf := v.Field(i), v.Type().Field(i)
		if !sf.IsExported() {
			continue
		}
		if f.Kind() == reflect.Struct {
			fieldsByColumnName(f.Addr(), out)
			continue
		}
		out[strings.ToLower(sf.Name)] = f
	}
}

// recorder is a RowWriter keeping the written values in column order.
type recorder struct{ vals []any }

func (r *recorder) Int64(v int64)        { r.vals = append(r.vals, v) }
func (r *recorder) Float64(v float64)    { r.vals = append(r.vals, v) }
func (r *recorder) String(v string)      { r.vals = append(r.vals, v) }
func (r *recorder) Bool(v bool)          { r.vals = append(r.vals, v) }
func (r *recorder) Float64s(v []float64) { r.vals = append(r.vals, v) }
func (r *recorder) Int64s(v []int64)     { r.vals = append(r.vals, v) }

// TestColumnsHoldTheirFields catches two same-typed fields swapped in WriteRow or ReadRow, which the type
// check and a round trip of mostly-zero events cannot see: every field gets a distinct value; each column
// whose name matches a field (last_sz ↔ LastSz) must hold that field's value, and ReadRow of the written row
// must give back the same event.
func TestColumnsHoldTheirFields(t *testing.T) {
	for _, tab := range Tables() {
		e := tab.New()
		n := 0
		fillDistinct(reflect.ValueOf(e), &n)
		rec := &recorder{}
		e.WriteRow(rec)
		fields := map[string]reflect.Value{}
		fieldsByColumnName(reflect.ValueOf(e), fields)
		matched := 0
		for i, c := range tab.Columns {
			f, ok := fields[strings.ReplaceAll(c.Name, "_", "")]
			if !ok || i >= len(rec.vals) {
				continue
			}
			matched++
			var want any
			switch f.Kind() {
			case reflect.Uint64:
				want = int64(f.Uint())
			case reflect.Int, reflect.Int32:
				want = f.Int()
			default:
				want = f.Interface()
			}
			if !reflect.DeepEqual(rec.vals[i], want) {
				t.Errorf("%s: column %s holds %v, its field holds %v", tab.Name, c.Name, rec.vals[i], want)
			}
		}
		if matched < len(tab.Columns)/2 {
			t.Errorf("%s: only %d of %d columns match a field by name; the check would be vacuous", tab.Name,
				matched, len(tab.Columns))
		}
		back := tab.New()
		if err := DecodeRow(AppendRow(nil, e), back); err != nil {
			t.Fatalf("%s: %v", tab.Name, err)
		}
		if !reflect.DeepEqual(AppendRow(nil, back), AppendRow(nil, e)) || !sameExported(back, e) {
			t.Errorf("%s: ReadRow does not give back what WriteRow wrote:\ngot  %+v\nwant %+v", tab.Name, back, e)
		}
	}
}

// sameExported compares the exported fields of two events (unexported scratch buffers may differ).
func sameExported(a, b Stored) bool {
	fa, fb := map[string]reflect.Value{}, map[string]reflect.Value{}
	fieldsByColumnName(reflect.ValueOf(a), fa)
	fieldsByColumnName(reflect.ValueOf(b), fb)
	for k, v := range fa {
		if !reflect.DeepEqual(v.Interface(), fb[k].Interface()) {
			return false
		}
	}
	return true
}
