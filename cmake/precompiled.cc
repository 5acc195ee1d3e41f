// The precompiled header's own translation unit (see precompiled.h).
