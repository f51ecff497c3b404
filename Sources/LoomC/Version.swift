import LoomCore
// placeholder
