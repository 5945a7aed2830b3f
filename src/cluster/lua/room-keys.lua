local S, M, H, B, BS, U, G = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local X, R = KEYS[8], KEYS[9]
