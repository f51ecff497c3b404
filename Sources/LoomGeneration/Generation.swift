import LoomCore
