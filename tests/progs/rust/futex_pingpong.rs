// futex_pingpong — two threads handing a turn back and forth through a std::sync::Mutex
// and Condvar (Rust's std waits with syscall(SYS_futex, ...), which no pthread hook sees):
// every wait is in wait_turn(). Prints the number of hand-overs.
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

#[inline(never)]
fn wait_turn(state: &(Mutex<u32>, Condvar), me: u32) {
    let (lock, cv) = state;
    let mut turn = lock.lock().unwrap();
    while *turn % 2 != me {
        turn = cv.wait(turn).unwrap();
    }
}

#[inline(never)]
fn pass_turn(state: &(Mutex<u32>, Condvar)) {
    let (lock, cv) = state;
    *lock.lock().unwrap() += 1;
    cv.notify_one();
}

fn main() {
    let rounds = 200;
    let state = Arc::new((Mutex::new(0u32), Condvar::new()));
    let other = Arc::clone(&state);
    let t = thread::spawn(move || {
        for _ in 0..rounds {
            wait_turn(&other, 1);
            thread::sleep(Duration::from_micros(500));
            pass_turn(&other);
        }
    });
    for _ in 0..rounds {
        wait_turn(&state, 0);
        thread::sleep(Duration::from_micros(500));
        pass_turn(&state);
    }
    t.join().unwrap();
    println!("handed over {} times", *state.0.lock().unwrap());
}
