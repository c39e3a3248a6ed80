package fake

import "reflect"

// Copy returns a deep copy of *v: maps, slices and pointers are copied, not
// shared, whatever fields the type gains, so nothing a caller does to its
// value reaches what a fake keeps. nil stays nil and empty stays empty.
// Unexported fields are copied as they are (a time.Time's location is
// shared, which is safe: it is never changed).
func Copy[T any](v *T) *T {
	if v == nil {
		return nil
	}
	c := new(T)
	reflect.ValueOf(c).Elem().Set(deep(reflect.ValueOf(v).Elem()))
	return c
}

func deep(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		p := reflect.New(v.Type().Elem())
		p.Elem().Set(deep(v.Elem()))
		return p
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		m := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), deep(it.Value()))
		}
		return m
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			s.Index(i).Set(deep(v.Index(i)))
		}
		return s
	case reflect.Struct:
		s := reflect.New(v.Type()).Elem()
		s.Set(v)
		for i := range v.NumField() {
			if s.Field(i).CanSet() {
				s.Field(i).Set(deep(v.Field(i)))
			}
		}
		return s
	case reflect.Array:
		a := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			a.Index(i).Set(deep(v.Index(i)))
		}
		return a
	}
	return v
}
